package envelope

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
)

// Directory is the hub's public key directory (directory.json, `./mash agency directory`): every principal's
// public keys, all versions, so signatures made before a rotation still verify.
type Directory struct {
	entries map[string]entry
}

type entry struct {
	Signing    map[string]string `json:"signing"`    // key id -> 64 hex digits, raw Ed25519 public key
	Encryption map[string]string `json:"encryption"` // key id -> 64 hex digits, raw X25519 public key
	Current    struct {
		Signing    string `json:"signing"`
		Encryption string `json:"encryption"`
	} `json:"current"`
	Roles []string `json:"roles"` // present for enrolled outside agencies only
}

// LoadDirectory reads directory.json.
func LoadDirectory(path string) (*Directory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseDirectory(data)
}

// ParseDirectory parses the directory's JSON.
func ParseDirectory(data []byte) (*Directory, error) {
	var d Directory
	if err := json.Unmarshal(data, &d.entries); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return &d, nil
}

// VerifyKey is the Ed25519 public key keyID of principal name.
func (d *Directory) VerifyKey(name, keyID string) (ed25519.PublicKey, error) {
	e, ok := d.entries[name]
	if !ok {
		return nil, fmt.Errorf("%s is not in the key directory", name)
	}
	raw, err := rawKey(e.Signing[keyID])
	if err != nil {
		return nil, fmt.Errorf("no signing key %s for %s in the directory", keyID, name)
	}
	return ed25519.PublicKey(raw), nil
}

// EncryptionKey is the current X25519 encryption key of principal name, raw, with its id: what to seal for.
func (d *Directory) EncryptionKey(name string) (string, []byte, error) {
	e, ok := d.entries[name]
	if !ok {
		return "", nil, fmt.Errorf("%s is not in the key directory", name)
	}
	kid := e.Current.Encryption
	raw, err := rawKey(e.Encryption[kid])
	if err != nil {
		return "", nil, fmt.Errorf("directory: %s's current encryption key %q is missing or malformed", name, kid)
	}
	return kid, raw, nil
}

// Roles are an enrolled agency's roles ("referrer", "recipient"); none for the hub's own services.
func (d *Directory) Roles(name string) []string {
	return d.entries[name].Roles
}

func rawKey(h string) ([]byte, error) {
	raw, err := hex.DecodeString(h)
	if err == nil && len(raw) != 32 {
		err = fmt.Errorf("%d bytes, not 32", len(raw))
	}
	return raw, err
}
