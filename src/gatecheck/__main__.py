from gatecheck.launch import main

main()
