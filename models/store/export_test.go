package store

// PendingProbe is the aggregator's probe, for the test of its plan.
const PendingProbe = pendingProbe
