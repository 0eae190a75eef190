package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// readConfig reads librdkafka properties (what `./mash agency add` writes and kcat -F reads): key=value lines,
// # comments. Unknown keys are ignored so one file serves kcat and this client alike.
func readConfig(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	conf := map[string]string{}
	scan := bufio.NewScanner(f)
	for scan.Scan() {
		line := strings.TrimSpace(scan.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not key=value", path, line)
		}
		conf[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return conf, scan.Err()
}

// clientOptions turns the properties into franz-go options: the brokers, and SCRAM over plain TCP or TLS.
func clientOptions(conf map[string]string) ([]kgo.Opt, error) {
	if conf["bootstrap.servers"] == "" {
		return nil, fmt.Errorf("the config has no bootstrap.servers")
	}
	opts := []kgo.Opt{kgo.SeedBrokers(strings.Split(conf["bootstrap.servers"], ",")...)}
	protocol := strings.ToUpper(conf["security.protocol"])
	switch protocol {
	case "", "PLAINTEXT", "SASL_PLAINTEXT":
	case "SSL", "SASL_SSL":
		tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
		if ca := conf["ssl.ca.location"]; ca != "" {
			pem, err := os.ReadFile(ca)
			if err != nil {
				return nil, err
			}
			tlsConf.RootCAs = x509.NewCertPool()
			if !tlsConf.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s holds no PEM certificate", ca)
			}
		}
		opts = append(opts, kgo.DialTLSConfig(tlsConf))
	default:
		return nil, fmt.Errorf("security.protocol %s is not supported", conf["security.protocol"])
	}
	if strings.HasPrefix(protocol, "SASL_") {
		auth := scram.Auth{User: conf["sasl.username"], Pass: conf["sasl.password"]}
		switch strings.ToUpper(conf["sasl.mechanisms"]) {
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(auth.AsSha512Mechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(auth.AsSha256Mechanism()))
		default:
			return nil, fmt.Errorf("sasl.mechanisms %q is not supported (the hub uses SCRAM-SHA-512)", conf["sasl.mechanisms"])
		}
	}
	return opts, nil
}
