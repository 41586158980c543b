"""Statistical disclosure control (analysis-plan.md §6): typed cells, the rules, the release, the linked
table set, the coordinated pattern, the audit and the output checker's record."""
