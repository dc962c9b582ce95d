"""Pure consolidation logic: sources, candidates, decisions, citations and the fallback."""
