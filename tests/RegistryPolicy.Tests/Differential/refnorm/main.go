package main

import (
	"bufio"
	"fmt"
	"os"

	_ "crypto/sha256"
	_ "crypto/sha512"

	"github.com/docker/distribution/reference"
)

// Reads references, one per line, and prints ParseNormalizedNamed + TagNameOnly, or the error.
func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer out.Flush()
	mode := "normalize"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	for in.Scan() {
		line := in.Text()
		var s string
		var err error
		if mode == "parse" {
			var r reference.Reference
			r, err = reference.Parse(line)
			if err == nil {
				s = r.String()
			}
		} else {
			var n reference.Named
			n, err = reference.ParseNormalizedNamed(line)
			if err == nil {
				if mode == "normalize-tag" {
					n = reference.TagNameOnly(n)
				}
				s = n.String()
			}
		}
		if err != nil {
			fmt.Fprintf(out, "error: %s\n", err)
		} else {
			fmt.Fprintln(out, s)
		}
	}
}
