package store

// PendingProbe is the aggregator's probe, for the test of its plan.
const PendingProbe = pendingProbe

// SessionTokensWhere is how a session's tokens are found, for the test of
// its plan.
const SessionTokensWhere = sessionTokensWhere
