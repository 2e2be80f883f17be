"""``python -m bench``: run every benchmark and print its table."""

from bench import pick

if __name__ == "__main__":
    pick.main()
