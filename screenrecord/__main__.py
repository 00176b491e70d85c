from screenrecord.cli import main

raise SystemExit(main())
