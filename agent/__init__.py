"""The conversation: planner, models, grounding, and the front ends (cli, tui, slack)."""
