package main

import (
	"errors"
	"fmt"
	"io"
)

// readLine reads one line from r a byte at a time, so that nothing after it is
// consumed (stdin's later lines may be commands), and returns it without its "\n" or
// "\r\n". A last line without a newline counts; an empty stream is an error.
func readLine(r io.Reader) (string, error) {
	var line []byte
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			line = append(line, b[0])
			continue
		}
		if errors.Is(err, io.EOF) && len(line) > 0 {
			break
		}
		if err == nil {
			continue
		}
		return "", fmt.Errorf("read password: %w", err)
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return string(line), nil
}
