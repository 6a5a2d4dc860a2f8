from ratings.cli import main

main()
