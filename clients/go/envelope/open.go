package envelope

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
)

// Open verifies an envelope and returns its header and plaintext, making the checks of docs/envelope.md in its
// order; the first that fails refuses the whole message, and nothing unverified is returned.
//
// recordKey is the Kafka key the record arrived under; allowedSenders are the topic's writers (for an agency's
// products topic, "decision"); me is the agency's enrolled name.
func Open(data []byte, recordKey string, allowedSenders []string, me string, own *OwnKeys, dir *Directory) (*Header, []byte, error) {
	// 1. Parse: the format, and a header of exactly the ten members.
	e, err := Parse(data)
	if err != nil {
		return nil, nil, err
	}
	h := &e.Header
	// 2. Only the topic's writers: a valid signature by anyone else enrolled is still refused.
	if !slices.Contains(allowedSenders, h.Sender) {
		return nil, nil, fmt.Errorf("%w: %q is not one of %s", ErrSender, h.Sender, strings.Join(allowedSenders, ", "))
	}
	// 3. The envelope names the key it was sealed under: under any other key it is a replay.
	if h.ReferralID != recordKey {
		return nil, nil, fmt.Errorf("%w: sealed for %q but delivered under key %q", ErrReplay, h.ReferralID, recordKey)
	}
	// 4. The signature, over the envelope as received re-serialised canonically, before anything is unwrapped.
	if err := verify(e, dir); err != nil {
		return nil, nil, fmt.Errorf("%w for sender %s: %v", ErrSignature, h.Sender, err)
	}
	// 5. Which of our keys the data key was wrapped for.
	i := slices.Index(h.Recipients, me)
	if i < 0 {
		return nil, nil, fmt.Errorf("%w: %s is not among %s", ErrNotRecipient, me, strings.Join(h.Recipients, ", "))
	}
	if i >= len(h.RecipientKeyIDs) {
		return nil, nil, fmt.Errorf("%w: fewer recipient_key_ids than recipients", ErrMalformed)
	}
	kid := h.RecipientKeyIDs[i]
	wrapped, ok := e.WrappedKeys[me+"/"+kid]
	if !ok {
		return nil, nil, fmt.Errorf("%w: no wrapped key %s/%s", ErrNotRecipient, me, kid)
	}
	// Only the hub's own services hold case keys; an outside party is never sent a case-bound message.
	if h.CaseBound {
		return nil, nil, ErrCaseBound
	}
	// 6. Unwrap the data key, then decrypt, both bound to the header bytes.
	plaintext, err := decrypt(e, kid, wrapped, own)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	return h, plaintext, nil
}

func verify(e *Envelope, dir *Directory) error {
	key, err := dir.VerifyKey(e.Header.Sender, e.Header.SenderKeyID)
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(e.Signature)
	if err != nil {
		return fmt.Errorf("signature is not base64")
	}
	input, err := e.SignatureInput()
	if err != nil {
		return err
	}
	if !ed25519.Verify(key, input, sig) {
		return fmt.Errorf("signature does not verify with %s", e.Header.SenderKeyID)
	}
	return nil
}

func decrypt(e *Envelope, kid, wrapped string, own *OwnKeys) ([]byte, error) {
	priv, ok := own.Encryption[kid]
	if !ok {
		return nil, fmt.Errorf("no private encryption key %s here (sealed for a key whose .pem is gone?)", kid)
	}
	aad, err := e.Header.Canonical()
	if err != nil {
		return nil, err
	}
	w, err := base64.StdEncoding.DecodeString(wrapped)
	if err != nil || len(w) < 32 {
		return nil, fmt.Errorf("wrapped key is not base64 of enc (32 bytes) || ct")
	}
	sk, err := kemScheme.UnmarshalBinaryPrivateKey(priv.Bytes())
	if err != nil {
		return nil, err
	}
	receiver, err := suite.NewReceiver(sk, aad)
	if err != nil {
		return nil, err
	}
	opener, err := receiver.Setup(w[:32])
	if err != nil {
		return nil, fmt.Errorf("unwrapping the data key: %v", err)
	}
	dataKey, err := opener.Open(w[32:], nil)
	if err != nil {
		return nil, fmt.Errorf("unwrapping the data key: %v", err)
	}
	if len(dataKey) != 32 {
		return nil, fmt.Errorf("the data key is %d bytes, not 32", len(dataKey))
	}
	nonce, err := base64.StdEncoding.DecodeString(e.Nonce)
	if err != nil || len(nonce) != 12 {
		return nil, fmt.Errorf("nonce is not base64 of 12 bytes")
	}
	ct, err := base64.StdEncoding.DecodeString(e.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("ciphertext is not base64")
	}
	gcm, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	plaintext, err := gcm.Open(nil, nonce, ct, aad)
	if err != nil {
		return nil, fmt.Errorf("decrypting the content: %v", err)
	}
	return plaintext, nil
}
