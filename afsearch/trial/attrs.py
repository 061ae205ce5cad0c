"""The user attributes afsearch keeps on each Optuna trial (optuna-dashboard shows them)."""

#: An enqueued trial that runs an interrupted one again: the interrupted row's id.
REPLACES = "afsearch_replaces"
#: A proposal that repeated a trial of the study: that trial's number, the one afsearch and
#: Optuna both show.
REPEATS = "afsearch_repeats"
#: The activation config of a trial whose activation is no Optuna parameter (evolution's
#: child, the prescreen's choice), so that a resumed study runs the same one again.
EVOLVED = "afsearch_activation"
#: A trial the space's ``enqueue`` list put first: its activation.
ENQUEUED = "afsearch_enqueued"
#: What optuna-dashboard shows of the activation beside the trial's parameters.
EXPRESSION = "expression"
ACTIVATION_ID = "activation_id"
LEARNED = "learned"
