package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/mash-hub/agency-client/envelope"
)

// sealCmd seals the message on stdin for the named recipients (comma-separated), for producing with any
// Kafka client under key --key.
func sealCmd(args []string) error {
	c := newFlags("seal")
	to := c.fs.String("to", "intake", "recipients, comma-separated (the front door's reader is intake)")
	key := c.fs.String("key", "", "the record's Kafka key: the submission id on the front door, else the referral id")
	schema := c.fs.String("schema", "NotificationSubmission", "the message type inside")
	if err := c.parse(args, "dir", "as", "to", "key"); err != nil {
		return err
	}
	own, dir, plaintext, err := c.keysAndStdin()
	if err != nil {
		return err
	}
	if !json.Valid(plaintext) { // the hub decodes what it opens as JSON: fail here, not on its dead-letter topic
		return fmt.Errorf("stdin is not JSON")
	}
	sealed, err := envelope.Seal(plaintext, envelope.Fields{ReferralID: *key, Sender: *c.name, Schema: *schema,
		SchemaVersion: 1}, strings.Split(*to, ","), dir, own)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(sealed, '\n'))
	return err
}

// openCmd verifies and opens the envelope on stdin, which arrived under Kafka key --key.
func openCmd(args []string) error {
	c := newFlags("open")
	from := c.fs.String("from", "", "the topic's writers, comma-separated (for mash.products.<name>: decision)")
	key := c.fs.String("key", "", "the Kafka key the record arrived under")
	if err := c.parse(args, "dir", "as", "from", "key"); err != nil {
		return err
	}
	own, dir, data, err := c.keysAndStdin()
	if err != nil {
		return err
	}
	return openAndPrint(data, *key, *from, *c.name, own, dir)
}

func openAndPrint(data []byte, key, from, me string, own *envelope.OwnKeys, dir *envelope.Directory) error {
	_, plaintext, err := envelope.Open(data, key, strings.Split(from, ","), me, own, dir)
	if err != nil {
		return err
	}
	if !strings.HasSuffix(string(plaintext), "\n") {
		plaintext = append(plaintext, '\n')
	}
	_, err = os.Stdout.Write(plaintext)
	return err
}
