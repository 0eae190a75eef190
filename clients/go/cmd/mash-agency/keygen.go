package main

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mash-hub/agency-client/envelope"
)

// keygen makes the agency's key pair on its own machine: the private keys never leave it, the hub is given
// public.pem only. Existing private keys are never overwritten: losing encryption.pem loses every message
// sealed for it, so a rotation renames the old file (kept, it still opens old messages) before running keygen.
func keygen(args []string) error {
	c := newFlags("keygen")
	if err := c.parse(args, "dir"); err != nil {
		return err
	}
	if err := os.MkdirAll(*c.dir, 0o700); err != nil {
		return err
	}
	for _, name := range []string{"signing.pem", "encryption.pem"} { // both or neither: no half-made pair
		if _, err := os.Stat(filepath.Join(*c.dir, name)); err == nil {
			return fmt.Errorf("%s exists: keep it (rename it to rotate) rather than overwrite a private key",
				filepath.Join(*c.dir, name))
		}
	}
	signPub, signPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	encPriv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	var public []byte
	for _, k := range []struct {
		file    string
		private any
		public  any
	}{{"signing.pem", signPriv, signPub}, {"encryption.pem", encPriv, encPriv.PublicKey()}} {
		priv, err := envelope.MarshalPrivatePEM(k.private)
		if err != nil {
			return err
		}
		if err := writeNew(filepath.Join(*c.dir, k.file), priv); err != nil {
			return err
		}
		pub, err := envelope.MarshalPublicPEM(k.public)
		if err != nil {
			return err
		}
		public = append(public, pub...) // Ed25519 first, as the hub's own tooling writes it
	}
	if err := os.WriteFile(filepath.Join(*c.dir, "public.pem"), public, 0o644); err != nil {
		return err
	}
	fmt.Printf("signing %s\nencryption %s\n", envelope.KeyID("sig", signPub), envelope.KeyID("enc", encPriv.PublicKey().Bytes()))
	return nil
}

// writeNew creates path readable by its owner only from its first byte, and refuses to replace a file.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if os.IsExist(err) {
			return fmt.Errorf("%s exists: keep it (rename it to rotate) rather than overwrite a private key", path)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
