"""The benchmark: ``python -m bench --tier S|M|L``; see bench/README section in the top-level README."""
