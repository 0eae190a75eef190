package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// receive reads a topic from its beginning until a record under key --key arrives and prints it (opened, with
// --from). It consumes every partition directly, with no consumer group, so the agency needs read access to
// the topic only and no group ACL; nothing is committed, so it can be run again.
func receive(args []string) error {
	c := newFlags("receive")
	config := c.fs.String("config", "", "librdkafka properties file")
	topic := c.fs.String("topic", "", "e.g. mash.acknowledgements.<name> or mash.products.<name>")
	key := c.fs.String("key", "", "the record key to wait for: submission id, or referral id on products")
	from := c.fs.String("from", "", "for sealed topics: the topic's writers (decision for products); opens the envelope")
	timeout := c.fs.Duration("timeout", time.Minute, "how long to wait")
	if err := c.parse(args, "config", "topic", "key"); err != nil {
		return err
	}
	conf, err := c.config(*config)
	if err != nil {
		return err
	}
	emit := func(value []byte) error {
		_, err := os.Stdout.Write(append(value, '\n'))
		return err
	}
	if *from != "" { // load the keys before waiting on the broker, so a missing key file fails at once
		own, dir, err := c.keys()
		if err != nil {
			return err
		}
		emit = func(value []byte) error { return openAndPrint(value, *key, *from, *c.name, own, dir) }
	}
	opts, err := clientOptions(conf)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumeTopics(*topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), // never a record of a transaction the hub aborted
	)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := checkTopic(ctx, cl, *topic); err != nil {
		return err
	}
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("no record with key %q on %s within %s", *key, *topic, *timeout)
		}
		for _, fe := range fetches.Errors() {
			if errors.As(fe.Err, new(*kgo.ErrDataLoss)) { // retention removed records: carry on from what is left
				continue
			}
			return fmt.Errorf("%s: %v", *topic, fe.Err) // e.g. TOPIC_AUTHORIZATION_FAILED
		}
		var found *kgo.Record
		fetches.EachRecord(func(r *kgo.Record) {
			if found == nil && string(r.Key) == *key {
				found = r
			}
		})
		if found != nil {
			return emit(found.Value)
		}
	}
}

// checkTopic asks the broker about the topic first, so a missing read permission or an unknown topic is
// reported at once with the broker's own error instead of surfacing as a timeout.
func checkTopic(ctx context.Context, cl *kgo.Client, topic string) error {
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("asking the broker about %s: %v", topic, err)
	}
	for _, rt := range resp.Topics {
		err := kerr.ErrorForCode(rt.ErrorCode)
		// A retriable error (no leader yet) clears up by itself; an unknown topic does not, though Kafka calls it retriable.
		if err != nil && (!kerr.IsRetriable(err) || errors.Is(err, kerr.UnknownTopicOrPartition)) {
			return fmt.Errorf("%s: %v", topic, err)
		}
	}
	return nil
}
