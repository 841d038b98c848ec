// Command contractgate is the contract-first API gateway.
//
//	contractgate [serve] [--config FILE]   run the gateway (default command)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/contractgate/contractgate/internal/config"
	"github.com/contractgate/contractgate/internal/logging"
	"github.com/contractgate/contractgate/internal/server"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "contractgate:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("contractgate", flag.ContinueOnError)
	configPath := fs.String("config", os.Getenv("CONTRACTGATE_CONFIG"), "config file (YAML); default: the embedded demo config")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*configPath, os.Environ())
	if err != nil {
		return err
	}
	srv, err := server.New(cfg, logging.New(cfg.Log, os.Stdout))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.Run(ctx)
}
