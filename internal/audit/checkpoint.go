package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/salama-ke/salama/internal/seal"
)

// Checkpoints: detecting a truncated tail.
//
// The hash chain cannot show that the newest entries were removed: what is
// left is a shorter, valid chain. A checkpoint is the head of the log (its
// seq and hash) at some moment, signed with the signing key and kept
// outside the database, in the data directory (CheckpointFile). Verify
// with a checkpoint then fails if the log no longer has that entry with
// that hash: someone with only the database cannot cut the log back below
// a checkpoint, nor cut it back and write other entries in place.
//
// Each server instance writes its own data directory's checkpoint every
// minute and when it stops (App.RunInstance); `salama audit verify`
// checks it, moves it forward, and prints it for the operator to record
// elsewhere too. A checkpoint only ever moves forward along the same
// chain: WriteCheckpoint refuses to replace one the log no longer
// contains. What it cannot catch: entries removed within the minute since
// the last checkpoint, and anything done by someone who also holds the
// signing key (who could sign a new checkpoint) — for that, the copy the
// operator keeps elsewhere (`salama audit verify --checkpoint FILE`).

// CheckpointFile is the checkpoint's name in the data directory.
const CheckpointFile = "audit.checkpoint"

const checkpointDomain = "salama/audit-checkpoint/v1\n"

// Checkpoint is a signed record that the log had entry Seq with hash Hash
// at time At.
type Checkpoint struct {
	Seq  int64
	Hash []byte
	At   time.Time
	Key  seal.PublicKey
	Sig  []byte
}

// ErrNoCheckpoint means there is no checkpoint file.
var ErrNoCheckpoint = errors.New("audit: no checkpoint")

// ErrCheckpointFormat means a checkpoint file does not parse or its
// signature is not by the key it names.
var ErrCheckpointFormat = errors.New("audit: malformed or unsigned checkpoint")

func checkpointMessage(seq int64, hash []byte, at time.Time) []byte {
	var b bytes.Buffer
	b.WriteString(checkpointDomain)
	_ = binary.Write(&b, binary.BigEndian, seq)
	_ = binary.Write(&b, binary.BigEndian, uint32(len(hash)))
	b.Write(hash)
	_ = binary.Write(&b, binary.BigEndian, at.Unix())
	return b.Bytes()
}

// SignCheckpoint makes a checkpoint of (seq, hash) at at, signed by key.
func SignCheckpoint(key *seal.SigningKey, seq int64, hash []byte, at time.Time) Checkpoint {
	at = time.Unix(at.Unix(), 0).UTC()
	return Checkpoint{Seq: seq, Hash: bytes.Clone(hash), At: at, Key: key.Public(), Sig: key.Sign(checkpointMessage(seq, hash, at))}
}

// valid reports whether c is signed by the key it names.
func (c Checkpoint) valid() bool {
	return !c.Key.IsZero() && c.Key.Verify(checkpointMessage(c.Seq, c.Hash, c.At), c.Sig)
}

// String is the text an operator records: "#SEQ HASH", as Result.Head.
func (c Checkpoint) String() string { return fmt.Sprintf("#%d %s", c.Seq, hex.EncodeToString(c.Hash)) }

// MarshalText is the file format: one "name value" pair a line.
func (c Checkpoint) MarshalText() ([]byte, error) {
	return fmt.Appendf(nil, "salama-audit-checkpoint v1\nseq %d\nhash %s\nat %s\nkey %s\nsig %s\n",
		c.Seq, hex.EncodeToString(c.Hash), c.At.UTC().Format(time.RFC3339), c.Key, base64.StdEncoding.EncodeToString(c.Sig)), nil
}

// UnmarshalText parses the file format and checks the signature against
// the key the file names (which key that may be is for the caller to say:
// see Log.CheckCheckpoint).
func (c *Checkpoint) UnmarshalText(b []byte) error {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 6 || strings.TrimSpace(lines[0]) != "salama-audit-checkpoint v1" {
		return ErrCheckpointFormat
	}
	var out Checkpoint
	for _, line := range lines[1:] {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			return ErrCheckpointFormat
		}
		var err error
		switch name {
		case "seq":
			out.Seq, err = strconv.ParseInt(value, 10, 64)
		case "hash":
			out.Hash, err = hex.DecodeString(value)
			if err == nil && len(out.Hash) != HashSize {
				err = ErrCheckpointFormat
			}
		case "at":
			out.At, err = time.Parse(time.RFC3339, value)
		case "key":
			out.Key, err = seal.ParsePublicKey(value)
		case "sig":
			out.Sig, err = base64.StdEncoding.Strict().DecodeString(value)
		default:
			err = ErrCheckpointFormat
		}
		if err != nil {
			return ErrCheckpointFormat
		}
	}
	if out.Seq < 0 || out.Hash == nil || out.At.IsZero() || !out.valid() {
		return ErrCheckpointFormat
	}
	*c = out
	return nil
}

// ReadCheckpoint reads a checkpoint file. A missing file is
// ErrNoCheckpoint; one that does not parse, or whose signature is not by
// the key it names, is ErrCheckpointFormat.
func ReadCheckpoint(path string) (Checkpoint, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Checkpoint{}, fmt.Errorf("%w: %s does not exist", ErrNoCheckpoint, path)
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: %w", err)
	}
	var c Checkpoint
	if err := c.UnmarshalText(b); err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %s", err, path)
	}
	return c, nil
}

// writeCheckpointFile writes c to path atomically: a synced temporary file
// renamed over it.
func writeCheckpointFile(path string, c Checkpoint) error {
	text, _ := c.MarshalText()
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(text)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// CheckCheckpoint checks that the log still holds the entry c records,
// with the same hash, and that c is signed by one of the keys in keys (the
// log's keys, from Verify; a checkpoint signed by any other key proves
// nothing). It returns an *Error of kind Truncated if the entry is gone or
// different.
func (l *Log) CheckCheckpoint(ctx context.Context, c Checkpoint, keys []KeyUse) error {
	trusted := false
	for _, u := range keys {
		trusted = trusted || u.Key.Equal(c.Key)
	}
	if !trusted || !c.valid() {
		return fmt.Errorf("%w: it is signed by %s, which is not a key of this log", ErrCheckpointFormat, c.Key)
	}
	if c.Seq == 0 {
		return nil
	}
	es, err := l.st.AuditEntries(ctx, c.Seq-1, 1)
	if err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	if len(es) == 0 || es[0].Seq != c.Seq {
		head, err := l.st.AuditHead(ctx)
		if err != nil {
			return fmt.Errorf("audit: checkpoint: %w", err)
		}
		var at int64
		if head != nil {
			at = head.Seq
		}
		return &Error{Seq: c.Seq, Kind: Truncated, Next: at}
	}
	if !bytes.Equal(es[0].Hash, c.Hash) {
		return &Error{Seq: c.Seq, Kind: Truncated, Next: c.Seq}
	}
	return nil
}

// WriteCheckpoint records the log's head in dataDir/audit.checkpoint,
// signed with the log's key, and returns it. If a checkpoint is there
// already, the log must still hold the entry it records (otherwise the
// *Error of kind Truncated is returned and nothing is written: the
// evidence stays for `salama audit verify`), and a checkpoint never moves
// backwards. A checkpoint file that does not parse is replaced, since a
// checkpoint is only a lower bound.
func (l *Log) WriteCheckpoint(ctx context.Context, dataDir string) (Checkpoint, error) {
	path := filepath.Join(dataDir, CheckpointFile)
	old, err := ReadCheckpoint(path)
	switch {
	case err == nil:
		kc, err := l.keys(ctx)
		if err != nil {
			return Checkpoint{}, err
		}
		uses := []KeyUse{{Key: kc.first(l.key.Public())}}
		for _, r := range kc.rotations {
			uses = append(uses, KeyUse{Key: r.next})
		}
		if err := l.CheckCheckpoint(ctx, old, uses); err != nil {
			return old, err
		}
	case errors.Is(err, ErrNoCheckpoint), errors.Is(err, ErrCheckpointFormat):
		old = Checkpoint{}
	default:
		return Checkpoint{}, err
	}
	head, err := l.st.AuditHead(ctx)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint: %w", err)
	}
	seq, hash := int64(0), make([]byte, HashSize)
	if head != nil {
		seq, hash = head.Seq, head.Hash
	}
	if old.Sig != nil && seq == old.Seq && old.Key.Equal(l.key.Public()) {
		return old, nil // nothing new
	}
	c := SignCheckpoint(l.key, seq, hash, l.now())
	if err := writeCheckpointFile(path, c); err != nil {
		return Checkpoint{}, err
	}
	return c, nil
}
