"""The `territoria` command: `main` composes every stage's and domain's sub-commands; `common` is shared."""
