"""Review of a change to the repository: what merging one revision into another does on hosts."""
