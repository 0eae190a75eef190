package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/mash-hub/agency-client/envelope"
	"github.com/twmb/franz-go/pkg/kgo"
)

// submissionID is the hub's contract for a referrer's reference (NotificationSubmission.submission_id).
var submissionID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// submit seals a NotificationSubmission for intake and produces it to the front door, keyed by its
// submission id, and returns only once the broker has acknowledged it.
func submit(args []string) error {
	c := newFlags("submit")
	config := c.fs.String("config", "", "librdkafka properties file")
	file := c.fs.String("file", "", "the NotificationSubmission JSON")
	timeout := c.fs.Duration("timeout", time.Minute, "how long to wait for the broker's acknowledgement")
	if err := c.parse(args, "dir", "config", "file"); err != nil {
		return err
	}
	conf, err := c.config(*config)
	if err != nil {
		return err
	}
	plaintext, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	var sub struct {
		SubmissionID string `json:"submission_id"`
		Concern      struct {
			ImmediateDanger bool `json:"immediate_danger"`
		} `json:"concern"`
	}
	if err := json.Unmarshal(plaintext, &sub); err != nil {
		return fmt.Errorf("%s: %v", *file, err)
	}
	if !submissionID.MatchString(sub.SubmissionID) {
		return fmt.Errorf("%s: submission_id %q must be 1-64 of A-Z a-z 0-9 . _ : -", *file, sub.SubmissionID)
	}
	// Immediate danger goes on the urgent lane, which the hub reads ahead of everything else.
	topic := "mash.notifications.submitted"
	if sub.Concern.ImmediateDanger {
		topic += ".urgent"
	}
	own, dir, err := c.keys()
	if err != nil {
		return err
	}
	sealed, err := envelope.Seal(plaintext, envelope.Fields{ReferralID: sub.SubmissionID, Sender: *c.name,
		Schema: "NotificationSubmission", SchemaVersion: 1}, []string{"intake"}, dir, own)
	if err != nil {
		return err
	}
	opts, err := clientOptions(conf)
	if err != nil {
		return err
	}
	// acks=all and franz-go's default idempotent producer: a retried send is never written twice.
	cl, err := kgo.NewClient(append(opts, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic(topic))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	record := &kgo.Record{Key: []byte(sub.SubmissionID), Value: sealed}
	if err := cl.ProduceSync(ctx, record).FirstErr(); err != nil {
		return fmt.Errorf("producing to %s: %v", topic, err)
	}
	fmt.Printf("submitted %s to %s\n", sub.SubmissionID, topic)
	return nil
}
