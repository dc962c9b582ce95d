"""The one tool surface every execution mode uses: memory, messaging, tasks, skills, workspace."""
