// go-ttrpc is a peer built from containerd's own Go ttrpc library (Debian's
// golang-github-containerd-ttrpc-dev), used to prove tskata's TypeScript ttrpc interoperates
// with it in both directions, and to measure both stacks side by side.
//
//	go-ttrpc serve  SOCKET                 serve tskata.interop.v1.Echo until stdin closes
//	go-ttrpc call   SOCKET                 call Echo/Fail/Metadata on a server, print JSON results
//	go-ttrpc bench  SOCKET CONC DURATION   unary round trips, print JSON latency figures
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/containerd/ttrpc"
	"github.com/gogo/protobuf/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const service = "tskata.interop.v1.Echo"

func serve(path string) {
	s, err := ttrpc.NewServer()
	check(err)
	s.Register(service, map[string]ttrpc.Method{
		"Echo": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req types.BytesValue
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			return &req, nil
		},
		"Fail": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req types.StringValue
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			return nil, status.Errorf(codes.NotFound, "go says: %s not found", req.Value)
		},
		"Metadata": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req types.StringValue
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			v, _ := ttrpc.GetMetadataValue(ctx, req.Value)
			return &types.StringValue{Value: v}, nil
		},
	})
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	check(err)
	go func() { _ = s.Serve(context.Background(), l) }()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = s.Close()
}

type callResult struct {
	Echo     string `json:"echo"`
	FailCode int    `json:"failCode"`
	FailMsg  string `json:"failMessage"`
	Metadata string `json:"metadata"`
	Unknown  int    `json:"unknownCode"`
}

func call(path string) {
	conn, err := net.Dial("unix", path)
	check(err)
	c := ttrpc.NewClient(conn)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var r callResult

	var echo types.BytesValue
	check(c.Call(ctx, service, "Echo", &types.BytesValue{Value: []byte("hello from go")}, &echo))
	r.Echo = string(echo.Value)

	var nothing types.StringValue
	err = c.Call(ctx, service, "Fail", &types.StringValue{Value: "c1"}, &nothing)
	st, _ := status.FromError(err)
	r.FailCode, r.FailMsg = int(st.Code()), st.Message()

	mdCtx := ttrpc.WithMetadata(ctx, ttrpc.MD{"containerd-namespace-ttrpc": []string{"interop"}})
	var md types.StringValue
	check(c.Call(mdCtx, service, "Metadata", &types.StringValue{Value: "containerd-namespace-ttrpc"}, &md))
	r.Metadata = md.Value

	err = c.Call(ctx, service, "NoSuchMethod", &types.StringValue{}, &nothing)
	st, _ = status.FromError(err)
	r.Unknown = int(st.Code())

	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}

func bench(path string, conc int, dur time.Duration) {
	conn, err := net.Dial("unix", path)
	check(err)
	c := ttrpc.NewClient(conn)
	defer c.Close()
	payload := &types.BytesValue{Value: make([]byte, 64)}
	deadline := time.Now().Add(dur)
	var mu sync.Mutex
	var lat []float64
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]float64, 0, 4096)
			var resp types.BytesValue
			for time.Now().Before(deadline) {
				t0 := time.Now()
				check(c.Call(context.Background(), service, "Echo", payload, &resp))
				local = append(local, float64(time.Since(t0).Nanoseconds())/1e3)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Float64s(lat)
	pct := func(p float64) float64 { return lat[int(p*float64(len(lat)-1))] }
	out, _ := json.Marshal(map[string]float64{
		"calls": float64(len(lat)), "seconds": elapsed, "callsPerSecond": float64(len(lat)) / elapsed,
		"p50us": pct(0.50), "p99us": pct(0.99),
	})
	fmt.Println(string(out))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-ttrpc:", err)
		os.Exit(1)
	}
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: go-ttrpc serve|call|bench SOCKET [CONC DURATION]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2])
	case "call":
		call(os.Args[2])
	case "bench":
		conc, err := strconv.Atoi(os.Args[3])
		check(err)
		dur, err := time.ParseDuration(os.Args[4])
		check(err)
		bench(os.Args[2], conc, dur)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
}
