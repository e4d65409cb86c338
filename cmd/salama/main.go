// Command salama is the Salama server and its administration tools.
package main

import (
	"os"

	"github.com/salama-ke/salama/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args, os.Stdout, os.Stderr)) }
