// Package password is the password half of the "password + security key"
// sign-in method: the NIST SP 800-63B rules a new password must pass
// (Policy.Check) and argon2id hashing (Hasher). No HTTP and no storage here:
// authn's handlers and account pages call it, and store the PHC strings.
//
// Setting a password: Policy.Check(password, email), then Hasher.Hash.
// Signing in: Hasher.Verify against the stored hash; when it says
// needsRehash (the parameters changed since the hash was made) the caller
// stores Hasher.Hash of the same password, so hashes upgrade on sign-in.
// An email without an account (or without a password) goes through
// Hasher.VerifyDummy instead, which costs the same, so response times do
// not tell which addresses have accounts. Every entry point refuses input
// over MaxBytes before hashing. Throttling is the caller's business.
//
// Cost: at DefaultParams (19 MiB, t=2, p=1) one Verify takes about 18–23 ms
// of one core and allocates 19 MiB on a 2-vCPU AMD EPYC VM (BenchmarkVerify,
// Go 1.26); at most GOMAXPROCS hashes run at once per Hasher, so a burst of
// sign-ins queues instead of multiplying the memory.
package password
