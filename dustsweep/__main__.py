"""`python -m dustsweep` runs the command line."""

from dustsweep.cli import main

if __name__ == "__main__":
    main()
