from gatecheck.cli import main

main()
