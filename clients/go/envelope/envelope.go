// Package envelope seals and opens mash-envelope-2 envelopes, the form of every record on the hub's sealed topics.
// docs/envelope.md specifies every byte; docs/test-vectors/envelope.json holds envelopes this package must open
// and whose header bytes, signature input and signature it must reproduce exactly.
package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Format is the only envelope version an outside agency seals and opens (mash-envelope-1 is hub-internal history).
const Format = "mash-envelope-2"

// Each refusal wraps one of these, so a caller can tell what failed with errors.Is.
var (
	ErrMalformed    = errors.New("malformed envelope")
	ErrSender       = errors.New("sender may not write here")
	ErrReplay       = errors.New("replay refused")
	ErrSignature    = errors.New("signature check failed")
	ErrNotRecipient = errors.New("not a recipient")
	// ErrCaseBound: case-bound envelopes travel between the hub's own services only and need the hub's case key.
	ErrCaseBound = errors.New("case-bound: hub-internal message")
	ErrDecrypt   = errors.New("cannot open")
)

// Header is the envelope's header: exactly these ten members, all authenticated (AES-GCM associated data,
// HPKE info and, inside the envelope, the signature).
type Header struct {
	MessageID       string
	ReferralID      string // the record's Kafka key, exactly
	Sender          string
	SenderKeyID     string
	Recipients      []string
	RecipientKeyIDs []string // RecipientKeyIDs[i] is the encryption key Recipients[i]'s data key is wrapped for
	Schema          string
	SchemaVersion   int64
	SealedAt        string // for information only
	CaseBound       bool
}

func (h *Header) object() map[string]any {
	return map[string]any{
		"message_id": h.MessageID, "referral_id": h.ReferralID, "sender": h.Sender, "sender_key_id": h.SenderKeyID,
		"recipients": h.Recipients, "recipient_key_ids": h.RecipientKeyIDs, "schema": h.Schema,
		"schema_version": h.SchemaVersion, "sealed_at": h.SealedAt, "case_bound": h.CaseBound,
	}
}

// Canonical is H, the header's exact bytes: the AES-GCM associated data and the HPKE info.
func (h *Header) Canonical() ([]byte, error) {
	return Canonical(h.object())
}

// Envelope is a parsed envelope. Binary members stay as the base64 text received: that text is what is signed.
type Envelope struct {
	Header      Header
	WrappedKeys map[string]string // "<recipient>/<key id>" -> base64(enc || ct)
	Nonce       string
	Ciphertext  string
	Signature   string
}

// SignatureInput is S, the canonical JSON of the envelope without its signature: what the sender signs.
func (e *Envelope) SignatureInput() ([]byte, error) {
	return Canonical(e.unsigned())
}

func (e *Envelope) unsigned() map[string]any {
	return map[string]any{"ciphertext": e.Ciphertext, "format": Format, "header": e.Header.object(),
		"nonce": e.Nonce, "wrapped_keys": e.WrappedKeys}
}

// Marshal is the whole envelope as canonical JSON, as the hub writes it.
func (e *Envelope) Marshal() ([]byte, error) {
	m := e.unsigned()
	m["signature"] = e.Signature
	return Canonical(m)
}

var headerMembers = []string{"message_id", "referral_id", "sender", "sender_key_id", "recipients",
	"recipient_key_ids", "schema", "schema_version", "sealed_at", "case_bound"}

// Parse reads any valid JSON with the envelope's members (opening step 1). Member names are matched exactly and
// types strictly (no null for a string, no 1.0 for an integer): a lax reading would re-serialise to other bytes
// than were signed, or accept what the hub refuses. Members beyond these are ignored, as the hub ignores them.
func Parse(data []byte) (*Envelope, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON value", ErrMalformed)
	}
	raw, ok := v.(map[string]any)
	if !ok || raw["format"] != Format {
		return nil, fmt.Errorf("%w: not a %s envelope", ErrMalformed, Format)
	}
	h, ok := raw["header"].(map[string]any)
	if !ok || len(h) != len(headerMembers) {
		return nil, fmt.Errorf("%w: the header must have exactly the ten members of docs/envelope.md", ErrMalformed)
	}
	for _, name := range headerMembers {
		if _, ok := h[name]; !ok {
			return nil, fmt.Errorf("%w: the header must have exactly the ten members of docs/envelope.md", ErrMalformed)
		}
	}
	r := reader{}
	e := &Envelope{Header: Header{
		MessageID: r.str(h, "message_id"), ReferralID: r.str(h, "referral_id"), Sender: r.str(h, "sender"),
		SenderKeyID: r.str(h, "sender_key_id"), Recipients: r.strs(h, "recipients"),
		RecipientKeyIDs: r.strs(h, "recipient_key_ids"), Schema: r.str(h, "schema"),
		SchemaVersion: r.integer(h, "schema_version"), SealedAt: r.str(h, "sealed_at"), CaseBound: r.boolean(h, "case_bound"),
	}, WrappedKeys: r.strMap(raw, "wrapped_keys"), Nonce: r.str(raw, "nonce"), Ciphertext: r.str(raw, "ciphertext"),
		Signature: r.str(raw, "signature")}
	if r.err != nil {
		return nil, r.err
	}
	return e, nil
}

// reader takes typed members out of decoded JSON, keeping the first type error.
type reader struct{ err error }

func (r *reader) fail(name, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s must be %s", ErrMalformed, name, want)
	}
}

func (r *reader) str(m map[string]any, name string) string {
	s, ok := m[name].(string)
	if !ok {
		r.fail(name, "a string")
	}
	return s
}

func (r *reader) strs(m map[string]any, name string) []string {
	a, ok := m[name].([]any)
	out := make([]string, len(a))
	for i, v := range a {
		if out[i], ok = v.(string); !ok {
			break
		}
	}
	if !ok {
		r.fail(name, "an array of strings")
	}
	return out
}

func (r *reader) strMap(m map[string]any, name string) map[string]string {
	o, ok := m[name].(map[string]any)
	out := make(map[string]string, len(o))
	for k, v := range o {
		if out[k], ok = v.(string); !ok {
			break
		}
	}
	if !ok {
		r.fail(name, "an object of strings")
	}
	return out
}

func (r *reader) integer(m map[string]any, name string) int64 {
	n, ok := m[name].(json.Number)
	i, err := n.Int64() // refuses 1.0 and 1e0, which Python would read as floats
	if !ok || err != nil {
		r.fail(name, "an integer")
	}
	return i
}

func (r *reader) boolean(m map[string]any, name string) bool {
	b, ok := m[name].(bool)
	if !ok {
		r.fail(name, "true or false")
	}
	return b
}
