package secret

import (
	"bytes"
	"errors"
	"testing"
)

// TestBoxOpensOnlyWhatItSealed: a value opens with its key and its
// additional data, and with nothing else.
func TestBoxOpensOnlyWhatItSealed(t *testing.T) {
	b, err := NewBox(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewBox(bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed := b.Seal("row-a", "the secret")
	if again := b.Seal("row-a", "the secret"); again == sealed {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	if got, err := b.Open("row-a", sealed); err != nil || got != "the secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	altered := []byte(sealed)
	altered[len(altered)/2] ^= 1
	for name, open := range map[string]func() (string, error){
		"other additional data": func() (string, error) { return b.Open("row-b", sealed) },
		"other key":             func() (string, error) { return other.Open("row-a", sealed) },
		"altered":               func() (string, error) { return b.Open("row-a", string(altered)) },
		"no prefix":             func() (string, error) { return b.Open("row-a", sealed[3:]) },
		"too short":             func() (string, error) { return b.Open("row-a", "v1.AAAA") },
		"empty":                 func() (string, error) { return b.Open("row-a", "") },
	} {
		if got, err := open(); !errors.Is(err, ErrDecrypt) || got != "" {
			t.Errorf("%s: %q, %v; want ErrDecrypt", name, got, err)
		}
	}
	if _, err := NewBox(make([]byte, 16)); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}
