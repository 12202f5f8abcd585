package serve

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
)

// argon2id parameters (OWASP password storage: m = 19 MiB, t = 2, p = 1).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	// MinPassword is the shortest password accepted, in bytes.
	MinPassword = 10
	// MaxPassword bounds the work of one sign-in attempt.
	MaxPassword = 256
	sessionTTL  = 12 * time.Hour
)

// HashPassword returns the PHC string of password under argon2id with a
// random salt.
func HashPassword(password string) (string, error) {
	if len(password) < MinPassword || len(password) > MaxPassword {
		return "", fmt.Errorf("password: %d..%d bytes", MinPassword, MaxPassword)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the PHC string hash.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || len(password) > MaxPassword {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 10 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// randomToken is 32 random bytes in hex.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("station serve: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// hashToken is how a session or API token is stored: its SHA-256 (the
// token is random, so no salt or slow hash is needed).
func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// ErrSignIn is the one answer to a wrong user or password.
var ErrSignIn = errors.New("wrong user name or password")

// signIn checks a password and opens a session: the session token (for
// the cookie) and its CSRF token.
func signIn(ctx context.Context, acc store.Accounts, user, password string, now time.Time) (session, csrf string, err error) {
	hash, err := acc.UserHash(ctx, user)
	if errors.Is(err, store.ErrUnknown) {
		CheckPassword(dummyHash, password) // the same work for an unknown user
		return "", "", ErrSignIn
	}
	if err != nil {
		return "", "", err
	}
	if !CheckPassword(hash, password) {
		return "", "", ErrSignIn
	}
	session, csrf = randomToken(), randomToken()
	err = acc.PutSecret(ctx, store.Secret{Hash: hashToken(session), User: user, Kind: "session", CSRF: csrf, Expires: now.Add(sessionTTL)})
	return session, csrf, err
}

// dummyHash is checked for an unknown user so that timing does not tell
// which user names exist.
var dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$5Pz6fJfwA0dy1uW0ptX3lbn6bZaSc0Qj5B5o/9jDf1A"
