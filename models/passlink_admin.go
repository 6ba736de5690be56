package models

// PasslinkAdmin is a sign-in link an administrator sent to a user (the
// console's "send a sign-in link"). No browser asked for it, so it has no
// browser binding and no cross-device code: whichever browser opens it
// signs in, after the confirmation POST, once.
const PasslinkAdmin = "admin"
