package envelope

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// vectors is docs/test-vectors/envelope.json, written by the hub's own implementation.
type vectors struct {
	Parties map[string]struct {
		SigningPrivatePEM    string `json:"signing_private_pem"`
		EncryptionPrivatePEM string `json:"encryption_private_pem"`
		SigningKeyID         string `json:"signing_key_id"`
		EncryptionKeyID      string `json:"encryption_key_id"`
	} `json:"parties"`
	Directory json.RawMessage `json:"directory"`
	Cases     []struct {
		Description     string   `json:"description"`
		Sender          string   `json:"sender"`
		Recipients      []string `json:"recipients"`
		CaseKeyHex      *string  `json:"case_key_hex"`
		Plaintext       string   `json:"plaintext_utf8"`
		CanonicalHeader string   `json:"canonical_header"`
		SignatureInput  string   `json:"signature_input"`
		Envelope        string   `json:"envelope"`
	} `json:"cases"`
}

func load(t *testing.T) (*vectors, *Directory, map[string]*OwnKeys) {
	t.Helper()
	data, err := os.ReadFile("../../../docs/test-vectors/envelope.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	dir, err := ParseDirectory(v.Directory)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]*OwnKeys{}
	for name, p := range v.Parties {
		d := t.TempDir() // as an agency holds them: PEM files in one directory
		write(t, filepath.Join(d, "signing.pem"), p.SigningPrivatePEM)
		write(t, filepath.Join(d, "encryption.pem"), p.EncryptionPrivatePEM)
		k, err := LoadOwnKeys(d)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := k.Encryption[p.EncryptionKeyID]; !ok || k.SigningKeyID != p.SigningKeyID {
			t.Fatalf("%s: key ids %s %v, want %s %s", name, k.SigningKeyID, k.Encryption, p.SigningKeyID, p.EncryptionKeyID)
		}
		keys[name] = k
	}
	return &v, dir, keys
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVectors(t *testing.T) {
	v, dir, keys := load(t)
	if len(v.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range v.Cases {
		t.Run(c.Description, func(t *testing.T) {
			e, err := Parse([]byte(c.Envelope))
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := e.Header.Canonical(); string(got) != c.CanonicalHeader {
				t.Errorf("canonical header\n got %s\nwant %s", got, c.CanonicalHeader)
			}
			if got, _ := e.SignatureInput(); string(got) != c.SignatureInput {
				t.Errorf("signature input\n got %s\nwant %s", got, c.SignatureInput)
			}
			if got, _ := e.Marshal(); string(got) != c.Envelope {
				t.Errorf("re-serialised envelope\n got %s\nwant %s", got, c.Envelope)
			}
			// Ed25519 is deterministic: signing the same input with the sender's key gives the same signature.
			sig := ed25519.Sign(keys[c.Sender].Signing, []byte(c.SignatureInput))
			if base64.StdEncoding.EncodeToString(sig) != e.Signature {
				t.Errorf("signature %s, want %s", base64.StdEncoding.EncodeToString(sig), e.Signature)
			}
			for _, r := range c.Recipients {
				_, plaintext, err := Open([]byte(c.Envelope), e.Header.ReferralID, []string{c.Sender}, r, keys[r], dir)
				if c.CaseKeyHex != nil { // hub-internal: an outside party's client must refuse, not try
					if !errors.Is(err, ErrCaseBound) {
						t.Errorf("case-bound envelope opened as %s: %v", r, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("open as %s: %v", r, err)
				}
				if string(plaintext) != c.Plaintext {
					t.Errorf("plaintext as %s: %q", r, plaintext)
				}
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	// Python's json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=True) of the same value;
	// U+FFFF sorts before U+1F600 by code point (UTF-16 order would put it after).
	v := map[string]any{
		"b": []any{"\x00\x1f\x7f/<>&\"\\\b\f\n\r\t é😀\u2028~", 1, true, nil},
		"a": map[string]any{"é": 0, "z": -3, "Z": ""}, "😀": 1, "\uffff": 2,
	}
	want := `{"a":{"Z":"","z":-3,"\u00e9":0},"b":["\u0000\u001f\u007f/<>&\"\\\b\f\n\r\t \u00e9\ud83d\ude00\u2028~",1,true,null],"\uffff":2,"\ud83d\ude00":1}`
	got, err := Canonical(v)
	if err != nil || string(got) != want {
		t.Fatalf("got %s (%v)\nwant %s", got, err, want)
	}
	if _, err := Canonical(map[string]any{"f": 1.5}); err == nil {
		t.Error("a float was written")
	}
}

func TestSealThenOpen(t *testing.T) {
	_, dir, keys := load(t)
	plaintext := []byte(`{"schema_version":1,"submission_id":"GO-0001","note":"Zoë 😀"}`)
	f := Fields{ReferralID: "GO-0001", Sender: "vector_referrer", Schema: "NotificationSubmission", SchemaVersion: 1}
	sealed, err := Seal(plaintext, f, []string{"vector_intake", "vector_referrer"}, dir, keys["vector_referrer"])
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsFunc(sealed, func(r rune) bool { return r > 0x7e }) {
		t.Error("the envelope is not pure ASCII")
	}
	for _, me := range []string{"vector_intake", "vector_referrer"} {
		h, got, err := Open(sealed, "GO-0001", []string{"vector_referrer"}, me, keys[me], dir)
		if err != nil {
			t.Fatalf("open as %s: %v", me, err)
		}
		if !bytes.Equal(got, plaintext) || h.CaseBound || h.SchemaVersion != 1 || len(h.MessageID) != 36 {
			t.Errorf("open as %s: %+v %q", me, h, got)
		}
	}

	refused := func(name string, want error, data []byte, key string, senders []string, me string) {
		t.Helper()
		if _, _, err := Open(data, key, senders, me, keys[me], dir); !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", name, err, want)
		}
	}
	refused("wrong sender", ErrSender, sealed, "GO-0001", []string{"decision"}, "vector_intake")
	refused("replay", ErrReplay, sealed, "GO-0002", []string{"vector_referrer"}, "vector_intake")

	toIntake, err := Seal(plaintext, f, []string{"vector_intake"}, dir, keys["vector_referrer"])
	if err != nil {
		t.Fatal(err)
	}
	refused("wrong recipient", ErrNotRecipient, toIntake, "GO-0001", []string{"vector_referrer"}, "vector_referrer")

	e, _ := Parse(toIntake)
	sig, _ := base64.StdEncoding.DecodeString(e.Signature)
	sig[5] ^= 0x01
	e.Signature = base64.StdEncoding.EncodeToString(sig)
	flipped, _ := e.Marshal()
	refused("flipped signature bit", ErrSignature, flipped, "GO-0001", []string{"vector_referrer"}, "vector_intake")

	e, _ = Parse(toIntake)
	e.Header.Schema = "Other" // a changed header no longer matches the signature
	tampered, _ := e.Marshal()
	refused("changed header", ErrSignature, tampered, "GO-0001", []string{"vector_referrer"}, "vector_intake")

	var raw map[string]any
	json.Unmarshal(toIntake, &raw)
	raw["header"].(map[string]any)["extra"] = "x"
	extra, _ := json.Marshal(raw)
	refused("eleven header members", ErrMalformed, extra, "GO-0001", []string{"vector_referrer"}, "vector_intake")
	refused("not JSON", ErrMalformed, []byte("0"), "GO-0001", []string{"vector_referrer"}, "vector_intake")
}

func TestOldKeysStillOpen(t *testing.T) {
	// After a rotation the agency keeps its old X25519 key under another .pem name: messages sealed for it open.
	v, _, keys := load(t)
	d := t.TempDir()
	p := v.Parties["vector_intake"]
	write(t, filepath.Join(d, "signing.pem"), p.SigningPrivatePEM)
	write(t, filepath.Join(d, "encryption-old.pem"), p.EncryptionPrivatePEM)
	write(t, filepath.Join(d, "encryption.pem"), v.Parties["vector_referrer"].EncryptionPrivatePEM)
	k, err := LoadOwnKeys(d)
	if err != nil || len(k.Encryption) != 2 || k.SigningKeyID != keys["vector_intake"].SigningKeyID {
		t.Fatalf("%v %v", k, err)
	}
}
