package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newDumpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "dump",
		Short: "(dump: under construction)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("dump: not built yet")
		},
	}
}
