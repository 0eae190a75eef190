// Command mash-agency is the reference client an outside agency's system starts from: it makes the agency's
// keys, seals and opens envelopes (docs/envelope.md), submits notifications to the hub's front door and
// receives what the hub sends back. Every subcommand fails with exit status 1 and a message on stderr.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mash-hub/agency-client/envelope"
)

const usage = `usage: mash-agency COMMAND [flags]

  keygen  --dir DIR                                   make signing.pem, encryption.pem and public.pem
  seal    --dir DIR --as NAME --to intake --key K [--schema S]    plaintext on stdin, envelope on stdout
  open    --dir DIR --as NAME --from decision --key K             envelope on stdin, plaintext on stdout
  submit  --dir DIR --config FILE --file submission.json [--as NAME]
  receive --config FILE --topic T --key K [--from SENDER --dir DIR --as NAME] [--timeout 60s]

DIR holds the agency's signing.pem and encryption.pem (and any older X25519 .pem it still needs) and the
hub's directory.json. NAME is the agency's enrolled name (default: the config's sasl.username).
FILE is librdkafka properties: bootstrap.servers, security.protocol, sasl.mechanisms, sasl.username, sasl.password.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	commands := map[string]func([]string) error{
		"keygen": keygen, "seal": sealCmd, "open": openCmd, "submit": submit, "receive": receive,
	}
	run, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err := run(os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "mash-agency %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// common are the flags every command takes.
type common struct {
	fs   *flag.FlagSet
	dir  *string
	name *string
}

func newFlags(command string) *common {
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	return &common{fs: fs,
		dir:  fs.String("dir", "", "directory with signing.pem, encryption.pem and directory.json"),
		name: fs.String("as", "", "the agency's enrolled name"),
	}
}

func (c *common) parse(args []string, required ...string) error {
	if err := c.fs.Parse(args); err != nil {
		return err
	}
	if c.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", c.fs.Arg(0))
	}
	for _, name := range required {
		if c.fs.Lookup(name).Value.String() == "" {
			return fmt.Errorf("--%s is required", name)
		}
	}
	return nil
}

// keys loads the agency's own private keys and the hub's public directory from --dir.
func (c *common) keys() (*envelope.OwnKeys, *envelope.Directory, error) {
	if *c.dir == "" {
		return nil, nil, fmt.Errorf("--dir is required")
	}
	own, err := envelope.LoadOwnKeys(*c.dir)
	if err != nil {
		return nil, nil, err
	}
	dir, err := envelope.LoadDirectory(filepath.Join(*c.dir, "directory.json"))
	if err != nil {
		return nil, nil, fmt.Errorf("%v (get it from the hub: ./mash agency directory)", err)
	}
	return own, dir, nil
}

// keysAndStdin loads the keys (so a missing key file fails before anything is read), then the message on stdin.
func (c *common) keysAndStdin() (*envelope.OwnKeys, *envelope.Directory, []byte, error) {
	own, dir, err := c.keys()
	if err != nil {
		return nil, nil, nil, err
	}
	data, err := readStdin()
	return own, dir, data, err
}

// config reads the agency's client configuration; its enrolled name defaults to its Kafka principal.
func (c *common) config(path string) (map[string]string, error) {
	conf, err := readConfig(path)
	if err == nil && *c.name == "" {
		*c.name = conf["sasl.username"]
	}
	return conf, err
}

func readStdin() ([]byte, error) {
	data, err := io.ReadAll(os.Stdin)
	if err == nil && len(data) == 0 {
		err = fmt.Errorf("nothing on stdin")
	}
	return data, err
}
