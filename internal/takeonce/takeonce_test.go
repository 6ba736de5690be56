package takeonce

import (
	"strconv"
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := New[string, int](2, time.Minute, func() time.Time { return now })
	c.Put("a", 1)
	if v, ok := c.Take("a"); !ok || v != 1 {
		t.Fatalf("take a: %v %v, want 1", v, ok)
	}
	if _, ok := c.Take("a"); ok {
		t.Fatal("a taken twice")
	}

	// Bounded: the least recently added goes first.
	c.Put("a", 1)
	c.Put("b", 2)
	c.Put("c", 3)
	if _, ok := c.Take("a"); ok {
		t.Error("a kept beyond the size")
	}

	// Expired values are not handed out, and are gone.
	now = now.Add(time.Minute + time.Second)
	if _, ok := c.Take("b"); ok {
		t.Error("an expired value was taken")
	}
	c.Put("d", 4)
	c.Put("e", 5)
	c.Forget("d")
	c.ForgetIf(func(v int) bool { return v == 5 })
	for _, k := range []string{"d", "e"} {
		if _, ok := c.Take(k); ok {
			t.Errorf("%s survived its removal", k)
		}
	}
}

// BenchmarkPutTake is what a kept read costs the request that writes it
// and the one that takes it (the resume's hand-off, a code's exchange),
// with the cache holding a few hundred others.
func BenchmarkPutTake(b *testing.B) {
	c := New[string, int](1024, time.Minute, nil)
	keys := make([]string, 512)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
		c.Put(keys[i], i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		c.Put(k, i)
		if _, ok := c.Take(k); !ok {
			b.Fatal("not taken")
		}
		c.Put(k, i) // back, so the cache stays at its size
		i++
	}
}
