package store

// PendingProbe is the aggregator's probe, for the test of its plan.
const PendingProbe = pendingProbe

// SessionTokensWhere is how a session's tokens are found, for the test of
// its plan.
const SessionTokensWhere = sessionTokensWhere

// EndByTokenHashSQL ends a session in one PostgreSQL statement, for the
// test of its plan.
const EndByTokenHashSQL = endByTokenHashSQL
