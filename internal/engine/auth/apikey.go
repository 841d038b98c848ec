package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/contractgate/contractgate/internal/engine/identity"
)

// ErrUnknownAPIKey is the cause (logged, never shown) when a presented API key matches none
// of the configured keys.
var ErrUnknownAPIKey = errors.New("auth: unknown API key")

// maxAPIKeyBytes caps a presented API key; longer values are refused without hashing.
const maxAPIKeyBytes = 1024

// HashAPIKey returns the hex SHA-256 of key: the value to configure as apiKeys[].sha256.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

type apiKey struct {
	id     string
	owner  string
	sum    []byte
	scopes []string
}

// keyring holds the configured API keys by their SHA-256. Read-only; safe for concurrent use.
type keyring struct{ keys []apiKey }

func newKeyring(cfg []APIKey) *keyring {
	r := &keyring{}
	for _, k := range cfg {
		sum, _ := hex.DecodeString(strings.ToLower(k.SHA256)) // checked by Validate
		r.keys = append(r.keys, apiKey{id: k.ID, owner: k.Owner, sum: sum, scopes: k.Scopes})
	}
	return r
}

// verify hashes presented and compares the hash with every configured key in constant time,
// without stopping at the first match, so that timing tells nothing about which key (or how
// much of one) matched. It returns the caller and the matching key's id.
func (r *keyring) verify(presented string) (identity.Identity, string, error) {
	if presented == "" || len(presented) > maxAPIKeyBytes {
		return identity.Identity{}, "", ErrUnknownAPIKey
	}
	sum := sha256.Sum256([]byte(presented))
	match := -1
	for i := range r.keys {
		eq := subtle.ConstantTimeCompare(sum[:], r.keys[i].sum)
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	if match < 0 {
		return identity.Identity{}, "", ErrUnknownAPIKey
	}
	k := r.keys[match]
	return identity.Identity{Subject: k.owner, Scopes: k.scopes, Method: MethodAPIKey}, k.id, nil
}
