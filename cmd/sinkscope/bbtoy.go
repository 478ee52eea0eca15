package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newBBToyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "bbtoy",
		Short: "(bbtoy: under construction)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("bbtoy: not built yet")
		},
	}
}
