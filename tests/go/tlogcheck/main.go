// Command tlogcheck reads a directory that `trail publish` wrote, with Go's
// own implementation of signed notes and tiled Merkle trees
// (golang.org/x/mod/sumdb/note and tlog), as an independent verifier:
//
//	tlogcheck DIR VKEY [OLD-CHECKPOINT]
//
// It checks the checkpoint's signature with VKEY, recomputes the tree hash
// from the hash tiles (each tile checked against the tree as it is read),
// proves and checks the inclusion of sample entries read from the entry
// bundles, and, given an older checkpoint, proves and checks that the
// newer tree extends it. It prints "ok SIZE" or fails with exit status 1.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// tileDir serves tiles from a C2SP tlog-tiles directory: the same paths as
// Go's tlog.Tile.Path, without its height element.
type tileDir string

func (d tileDir) Height() int { return 8 }

func (d tileDir) path(t tlog.Tile) string {
	return filepath.Join(string(d), strings.Replace(t.Path(), "tile/8/", "tile/", 1))
}

func (d tileDir) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := os.ReadFile(d.path(t))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (d tileDir) SaveTiles([]tlog.Tile, [][]byte) {}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "tlogcheck: "+format+"\n", args...)
	os.Exit(1)
}

// checkpoint opens a signed checkpoint note and returns its size and root.
func checkpoint(path string, verifiers note.Verifiers) (int64, tlog.Hash) {
	msg, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(msg, verifiers)
	if err != nil {
		fail("%s: %v", path, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("%s: not a checkpoint", path)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("%s: size: %v", path, err)
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		fail("%s: root hash: %v", path, err)
	}
	var root tlog.Hash
	copy(root[:], raw)
	return size, root
}

// entry reads entry i from its entry bundle.
func entry(dir tileDir, size, i int64) []byte {
	t := tlog.TileForIndex(8, tlog.StoredHashIndex(0, i))
	t.L = 0
	if (t.N+1)*256 > size {
		t.W = int(size - t.N*256)
	} else {
		t.W = 256
	}
	name := filepath.Join(string(dir), strings.Replace(t.Path(), "tile/8/0/", "tile/entries/", 1))
	data, err := os.ReadFile(name)
	if err != nil {
		fail("%v", err)
	}
	for k := int64(0); ; k++ {
		if len(data) < 2 {
			fail("%s: entry %d missing", name, i)
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			fail("%s: truncated", name)
		}
		if t.N*256+k == i {
			return data[2 : 2+n]
		}
		data = data[2+n:]
	}
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: tlogcheck DIR VKEY [OLD-CHECKPOINT]")
	}
	dir := tileDir(os.Args[1])
	verifier, err := note.NewVerifier(os.Args[2])
	if err != nil {
		fail("verifier key: %v", err)
	}
	verifiers := note.VerifierList(verifier)
	size, root := checkpoint(filepath.Join(string(dir), "checkpoint"), verifiers)
	reader := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, dir)
	computed, err := tlog.TreeHash(size, reader)
	if err != nil {
		fail("tree hash from tiles: %v", err)
	}
	if computed != root {
		fail("the tiles hash to %v, the checkpoint says %v", computed, root)
	}
	for _, i := range []int64{0, size / 3, size / 2, size - 1} {
		leaf := tlog.RecordHash(entry(dir, size, i))
		proof, err := tlog.ProveRecord(size, i, reader)
		if err != nil {
			fail("inclusion proof of %d: %v", i, err)
		}
		if err := tlog.CheckRecord(proof, size, root, i, leaf); err != nil {
			fail("entry %d from its bundle: %v", i, err)
		}
	}
	if len(os.Args) > 3 {
		oldSize, oldRoot := checkpoint(os.Args[3], verifiers)
		proof, err := tlog.ProveTree(size, oldSize, reader)
		if err != nil {
			fail("consistency proof from %d: %v", oldSize, err)
		}
		if err := tlog.CheckTree(proof, size, root, oldSize, oldRoot); err != nil {
			fail("the tree of %d does not extend the tree of %d: %v", size, oldSize, err)
		}
	}
	if !bytes.Equal(computed[:], root[:]) {
		fail("unreachable")
	}
	fmt.Printf("ok %d\n", size)
}
