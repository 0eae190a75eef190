package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/cloudflare/circl/hpke"
)

// suite is the key wrapping of docs/envelope.md: HPKE base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.
var (
	suite     = hpke.NewSuite(hpke.KEM_X25519_HKDF_SHA256, hpke.KDF_HKDF_SHA256, hpke.AEAD_AES256GCM)
	kemScheme = hpke.KEM_X25519_HKDF_SHA256.Scheme()
)

// Fields are the header members the caller chooses; the rest follow from the keys and the directory.
type Fields struct {
	MessageID     string // a random UUID (version 4) when empty
	ReferralID    string // the record's Kafka key: on the front door, the submission id
	Sender        string // the agency's enrolled name
	Schema        string // the message type inside, e.g. NotificationSubmission
	SchemaVersion int64
	SealedAt      string // now, UTC with microseconds, when empty
}

// Seal encrypts plaintext (the message's UTF-8 JSON) for recipients' current encryption keys in the directory
// and signs the result with own's signing key. An outside agency never seals case-bound: that needs a case key
// only the hub holds.
func Seal(plaintext []byte, f Fields, recipients []string, dir *Directory, own *OwnKeys) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, fmt.Errorf("seal: no recipients")
	}
	if f.MessageID == "" {
		f.MessageID = NewUUID()
	}
	if f.SealedAt == "" {
		f.SealedAt = Now()
	}
	h := Header{MessageID: f.MessageID, ReferralID: f.ReferralID, Sender: f.Sender, SenderKeyID: own.SigningKeyID,
		Recipients: slices.Clone(recipients), Schema: f.Schema, SchemaVersion: f.SchemaVersion, SealedAt: f.SealedAt}
	public := make([][]byte, len(recipients))
	for i, r := range recipients {
		if slices.Index(recipients, r) != i {
			return nil, fmt.Errorf("seal: %s is a recipient twice", r)
		}
		kid, raw, err := dir.EncryptionKey(r)
		if err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		h.RecipientKeyIDs, public[i] = append(h.RecipientKeyIDs, kid), raw
	}
	aad, err := h.Canonical()
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	dataKey, nonce := make([]byte, 32), make([]byte, 12)
	rand.Read(dataKey) // crypto/rand.Read never fails (it crashes the program instead)
	rand.Read(nonce)
	gcm, err := newGCM(dataKey) // not case-bound: the content key is the data key itself
	if err != nil {
		return nil, err
	}
	e := &Envelope{Header: h, WrappedKeys: map[string]string{}, Nonce: b64(nonce),
		Ciphertext: b64(gcm.Seal(nil, nonce, plaintext, aad))}
	for i, r := range recipients {
		wrapped, err := wrap(dataKey, public[i], aad)
		if err != nil {
			return nil, fmt.Errorf("seal: wrapping for %s: %w", r, err)
		}
		e.WrappedKeys[r+"/"+h.RecipientKeyIDs[i]] = b64(wrapped)
	}
	input, err := e.SignatureInput()
	if err != nil {
		return nil, err
	}
	e.Signature = b64(ed25519.Sign(own.Signing, input))
	return e.Marshal()
}

// wrap is HPKE SealBase(pk, info = H, aad = empty, plaintext = the data key), single-shot: enc || ct, 32 + 48 bytes.
func wrap(dataKey, rawPublic, info []byte) ([]byte, error) {
	pk, err := kemScheme.UnmarshalBinaryPublicKey(rawPublic)
	if err != nil {
		return nil, err
	}
	sender, err := suite.NewSender(pk, info)
	if err != nil {
		return nil, err
	}
	enc, sealer, err := sender.Setup(rand.Reader)
	if err != nil {
		return nil, err
	}
	ct, err := sealer.Seal(dataKey, nil)
	if err != nil {
		return nil, err
	}
	return append(enc, ct...), nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block) // 12-byte nonce, 16-byte tag appended to the ciphertext
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// NewUUID is a random (version 4) UUID in its usual 36-character form.
func NewUUID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

// Now is the time in the form the hub writes sealed_at (Python's isoformat of an aware UTC time), always
// with microseconds.
func Now() string {
	return time.Now().UTC().Format("2006-01-02T15:04:05.000000+00:00")
}
