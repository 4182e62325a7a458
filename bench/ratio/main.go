// Command ratio reads `go test -bench` output with sub-benchmarks named rcli and
// goredis and prints, for each benchmark, the median ns/op of each and how many times
// faster rcli is.
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

func main() {
	runs := map[string]map[string][]float64{} // benchmark → client → ns/op
	var order []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || f[3] != "ns/op" {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i] // drop -GOMAXPROCS
		}
		bench, client, ok := strings.Cut(name, "/")
		if !ok {
			continue
		}
		ns, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			continue
		}
		if runs[bench] == nil {
			runs[bench] = map[string][]float64{}
			order = append(order, bench)
		}
		runs[bench][client] = append(runs[bench][client], ns)
	}
	for _, b := range order {
		r, g := median(runs[b]["rcli"]), median(runs[b]["goredis"])
		if r == 0 || g == 0 {
			continue
		}
		fmt.Printf("%-28s rcli %10.0f ns/op   go-redis %10.0f ns/op   rcli is %.2fx go-redis\n", b, r, g, g/r)
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	return v[len(v)/2]
}
