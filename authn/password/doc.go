// Package password is the password half of the "password + security key"
// sign-in method: the NIST SP 800-63B rules a new password must pass
// (Policy.Check), argon2id hashing (Hasher), and the sign-in check with its
// throttle (Service). No HTTP here: authn's handlers call it (the security
// key, the second step, is package passkey's), and the data layer behind a
// small Store interface keeps the PHC strings in the user_passwords table.
//
// Setting a password: Service.NewHash (Policy.Check then Hasher.Hash); the
// caller stores the hash. Signing in: Service.SignIn reads the account and
// its password, counts the attempt against the throttle (Limits: growing
// windows per IP, per account and IP, per account, held in the database by
// the ratelimit package so they hold across replicas), and verifies the
// password against the stored hash; when Verify says needsRehash (the
// parameters changed since the hash was made) it stores a new hash of the
// same password, so hashes upgrade on sign-in. An email without an account
// (or without a password) takes the same reads, the same count and the
// same cost (Hasher.VerifyDummy), so neither the answer nor its time tells
// which addresses have accounts. Every entry point refuses input over
// MaxBytes before hashing.
//
// Cost: at DefaultParams (19 MiB, t=2, p=1) one Verify takes about 18–23 ms
// of one core and allocates 19 MiB on a 2-vCPU AMD EPYC VM (BenchmarkVerify,
// Go 1.26); at most GOMAXPROCS hashes run at once per Hasher, so a burst of
// sign-ins queues instead of multiplying the memory.
package password
