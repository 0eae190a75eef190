package envelope

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// KeyID is a key's id as the hub enrols it: kind ("sig" or "enc") and the first 16 lower-case hex digits of the
// SHA-256 of the 32 raw public-key bytes, so an agency knows its own key ids without asking the hub.
func KeyID(kind string, rawPublic []byte) string {
	sum := sha256.Sum256(rawPublic)
	return kind + "-" + hex.EncodeToString(sum[:])[:16]
}

// OwnKeys are an agency's private keys, as its system holds them. Only the signing key signs; every X25519 key
// opens, so envelopes sealed for a key that has since been rotated out stay readable while its file is kept.
type OwnKeys struct {
	Signing      ed25519.PrivateKey
	SigningKeyID string
	Encryption   map[string]*ecdh.PrivateKey // by key id
}

// LoadOwnKeys reads every *.pem in dir: signing.pem must be an Ed25519 PKCS#8 private key, and every X25519
// PKCS#8 private key under any .pem name is an encryption key (encryption.pem is the current one). Public keys
// and other files beside them are skipped, as the hub's own PemCustody does.
func LoadOwnKeys(dir string) (*OwnKeys, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	k := &OwnKeys{Encryption: map[string]*ecdh.PrivateKey{}}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		block, _ := pem.Decode(data)
		if block == nil || block.Type != "PRIVATE KEY" {
			continue
		}
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		switch key := key.(type) {
		case ed25519.PrivateKey:
			if filepath.Base(path) == "signing.pem" {
				k.Signing = key
				k.SigningKeyID = KeyID("sig", key.Public().(ed25519.PublicKey))
			}
		case *ecdh.PrivateKey:
			if key.Curve() == ecdh.X25519() {
				k.Encryption[KeyID("enc", key.PublicKey().Bytes())] = key
			}
		}
	}
	if k.Signing == nil || len(k.Encryption) == 0 {
		return nil, fmt.Errorf("%s holds no signing.pem (Ed25519) or no X25519 key", dir)
	}
	return k, nil
}

// MarshalPrivatePEM writes a private key as PKCS#8 PEM, what `openssl genpkey` writes and LoadOwnKeys reads.
func MarshalPrivatePEM(key any) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPublicPEM writes a public key as SubjectPublicKeyInfo PEM, the form the hub enrols.
func MarshalPublicPEM(key any) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}
