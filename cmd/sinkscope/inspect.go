package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newInspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect",
		Short: "(inspect: under construction)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("inspect: not built yet")
		},
	}
}
