"""The trainer's workflow: checks on the data trainers edit, the review inbox, the CLI.

`python -m tooling.trainers review export|apply` (see docs/trainers.md)."""
