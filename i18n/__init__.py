"""What a person reads: the deployment's time zone, the language, and the words for the domain's codes."""
