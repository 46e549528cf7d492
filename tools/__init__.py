"""Everything the planner can call, and the cost engine behind it."""
