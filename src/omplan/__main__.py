from omplan.apps.cli import main

main()
