"""Entry point of ``python -m animas_tools.scripted_llm``."""

from animas_tools.scripted_llm.command import main

if __name__ == "__main__":
    main()
