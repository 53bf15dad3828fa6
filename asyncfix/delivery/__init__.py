"""Delivering the rewrite: one git branch per checklist category (`branches`), and the pull
requests that carry them (`github_prs`)."""
