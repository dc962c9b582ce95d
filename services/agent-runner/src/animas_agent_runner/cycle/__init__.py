"""One cycle of one anima: activation → priming → think and act → communicate → encode → rest."""
